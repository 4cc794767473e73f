"""A/B experiments: comparing homepage variants on live traffic."""
