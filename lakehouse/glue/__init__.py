"""The local stand-in for AWS Glue: the ``awsglue`` library subset and a job runner."""
