"""Reading, validating and converting layers; CRS handling; grid QA. Pure: no web imports."""
