"""Stand-in for the DSP's `testdata` package (absent from NHS England's published repository); see ref_data."""
