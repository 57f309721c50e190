"""The gold layer: business marts computed from silver, one Glue job ``create_gold_<mart>`` each.

``marts`` reads the mart declarations (``declarations/gold.json``), ``transforms`` holds the pure
DataFrame-in, DataFrame-out functions, and ``io`` the small silver-reading and gold-writing
adapters the job scripts use. The business terms (revenue, refund, MRR, churn, ...) are defined
once in the "Definitions" section of ``glue-scripts/README.md``; the transforms implement exactly
those definitions.
"""
