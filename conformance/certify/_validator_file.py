"""A validator described once, in TOML, and certified on every profile: `dids certify --validator-file FILE`.

    name = "Vendor X 4.2"
    command = ["{here}/vendor-x", "--in", "{file}", "--when", "{submitted}"]  # words; a string is split too
    adapter = "json"                  # exit | json | junit | dq-xml
    timeout = 60                      # seconds per case
    level = "official"                # the default level for this validator (verdict | official | exact)
    optional = [                      # argument groups given only when the case has every value they name
      ["--period", "{period}"],
      ["--submitter", "{submitter}", "--mappings", "{local_mappings}"],
    ]
    rule-map = "codes.csv"            # a rule map file (CSV or TOML), or an inline table [rule-map.codes]
    serve = ["{here}/vendor-x", "--serve"]  # optional: started once per worker; each case's command line is sent
                                      # to it as a JSON line (`dids serve` says how), not run as a process

    [environment]
    LANG = "C.UTF-8"

    [[expected-failure]]
    rule = "V2P-WINDOW-CLOSED"
    reason = "window rules arrive in 4.3"

`{here}` is the folder of the validator file, so a vendor's script can sit beside it; relative paths of a rule
map are read from there too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.certify._rule_map import RuleMap, build_rule_map, load_rule_map, toml_table_entries
from conformance.certify._score import LEVELS, ExpectedFailure, parse_expected_failures
from conformance.certify._validators import ADAPTERS, CertifyError, CommandValidator
from conformance.files import InputError, require_file

KEYS = {
    "name", "command", "adapter", "timeout", "level", "optional", "rule-map", "environment", "expected-failure", "serve"
}  # fmt: skip


@dataclass
class ValidatorFile:
    path: Path
    name: str
    validator: CommandValidator
    level: str | None
    rule_map: Any  # a Path to a rule map file, a [codes] table, or None
    expected_failures: list[ExpectedFailure] = field(default_factory=list)

    def load_rule_map(self, known: Iterable[str]) -> RuleMap | None:
        if self.rule_map is None:
            return None
        if isinstance(self.rule_map, Path):
            return load_rule_map(self.rule_map, known)
        return build_rule_map(self.path, toml_table_entries(self.path, self.rule_map.get("codes", {})), known)

    @property
    def own_files(self) -> list[Path]:
        """Files this description names, which a report must never replace."""
        return [self.path, *([self.rule_map] if isinstance(self.rule_map, Path) else [])]


def load_validator_file(path: str | Path) -> ValidatorFile:
    """Read and check a validator file; every problem is a CertifyError naming the file."""
    where = str(path)
    try:
        source = require_file(path, what="validator file", max_bytes=1 << 20)
        data: dict[str, Any] = tomllib.loads(source.read_text("utf-8"))
    except InputError as exc:
        raise CertifyError(str(exc)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CertifyError(f"cannot read the validator file {where}: {exc}") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise CertifyError(f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(KEYS))}")
    here = str(source.resolve().parent)
    command = data.get("command")
    if isinstance(command, list) and all(isinstance(w, str) for w in command):
        command = [w.replace("{here}", here) for w in command]
    elif isinstance(command, str):
        command = command.replace("{here}", here)
    else:
        raise CertifyError(f"{where}: command must be a list of words (or a string)")
    adapter, level, timeout = data.get("adapter", "exit"), data.get("level"), data.get("timeout", 60.0)
    if adapter not in ADAPTERS:
        raise CertifyError(f"{where}: adapter must be one of {', '.join(ADAPTERS)}")
    if level is not None and level not in LEVELS:
        raise CertifyError(f"{where}: level must be one of {', '.join(LEVELS)}")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise CertifyError(f"{where}: timeout must be a number of seconds")
    optional = data.get("optional", [])
    if not isinstance(optional, list) or not all(
        isinstance(g, list) and g and all(isinstance(w, str) for w in g) for g in optional
    ):
        raise CertifyError(f'{where}: optional must be a list of argument groups, e.g. [["--period", "{{period}}"]]')
    serve = data.get("serve")
    if isinstance(serve, list) and all(isinstance(w, str) for w in serve):
        serve = [w.replace("{here}", here) for w in serve]
    elif isinstance(serve, str):
        serve = serve.replace("{here}", here)
    elif serve is not None:
        raise CertifyError(f"{where}: serve must be a list of words (or a string)")
    environment = data.get("environment", {})
    if not isinstance(environment, dict) or not all(isinstance(v, str) for v in environment.values()):
        raise CertifyError(f'{where}: [environment] must hold NAME = "value" strings')
    try:
        validator = CommandValidator(
            command,
            adapter,
            timeout=float(timeout),
            optional=[[w.replace("{here}", here) for w in g] for g in optional],
            env=environment,
            serve=serve,
        )
    except CertifyError as exc:
        raise CertifyError(f"{where}: {exc}") from None
    return ValidatorFile(
        source,
        str(data.get("name", source.stem)),
        validator,
        level,
        _rule_map_entry(data.get("rule-map"), source.resolve().parent, where),
        parse_expected_failures(data.get("expected-failure", []), where),
    )


def _rule_map_entry(entry: Any, folder: Path, where: str) -> Any:
    if entry is None or isinstance(entry, dict):
        return entry
    if isinstance(entry, str):
        return folder / entry
    raise CertifyError(f"{where}: rule-map must be a file name or a table [rule-map.codes]")
