"""Stand-in for `testdata.ref_data.generators` (only `organisations.normalize_date` is imported by the DSP)."""
