"""The churn task plug-in (seed 004): a logistic classifier over one customer record."""
