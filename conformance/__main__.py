from conformance.cli import entry

# Guarded: a worker process started by spawn (dids check --jobs) imports this module as __mp_main__.
if __name__ == "__main__":
    entry()
