"""Deployment helpers: the Glue artifacts Terraform uploads, and the offline Terraform checks."""
