"""The churn task plug-in (seed 004, the MLOps platform): a logistic classifier over one
customer record."""
