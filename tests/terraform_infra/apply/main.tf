# A test root for tests/terraform_infra/test_apply.py: the storage, IAM and DMS modules of
# terraform-infra, exactly as the deployment uses them, applied to a moto server. Only what the
# deployment would take from modules that moto cannot stand up (the source database, its
# network) is given here as fixed values. The test applies module.storage, module.iam and the
# DMS S3 target endpoint (-target), then reads the endpoint back with boto3.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "endpoint" {
  description = "The moto server's URL: every service the three modules use goes there."
  type        = string
}

variable "name" {
  description = "Name prefix of everything created (unique per test run)."
  type        = string
}

variable "declarations_dir" {
  description = "glue-scripts/lakehouse_glue/declarations of this repository."
  type        = string
}

provider "aws" {
  region = "us-east-1"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  # moto answers an unsupported call with HTTP 500, which the SDK would retry 25 times with
  # back-off (many minutes): fail fast instead, naming the call.
  max_retries = 1

  endpoints {
    dms            = var.endpoint
    ec2            = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sts            = var.endpoint
  }
}

locals {
  account_id = "123456789012" # moto's account
  region     = "us-east-1"
  secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:${var.name}-source-AbCdEf"
}

module "storage" {
  source = "../../../terraform-infra/modules/storage"

  name       = var.name
  account_id = local.account_id
  region     = local.region
  settings   = { force_destroy = true }
}

module "iam" {
  source = "../../../terraform-infra/modules/iam"

  name                     = var.name
  account_id               = local.account_id
  region                   = local.region
  kms_key_arn              = module.storage.kms_key_arn
  bucket_arns              = module.storage.bucket_arns
  source_secret_arn        = local.secret_arn
  glue_database_names      = ["${replace(var.name, "-", "_")}_bronze"]
  glue_log_group_prefix    = "/aws-glue/jobs/${var.name}"
  athena_workgroup_name    = "${var.name}-analysts"
  athena_results_prefix    = "results/analysts/"
  metrics_namespace        = "Lakehouse"
  create_dms_service_roles = false # account-wide names: another test run may hold them
}

module "dms" {
  source = "../../../terraform-infra/modules/dms"

  name                 = var.name
  account_id           = local.account_id
  vpc_id               = "vpc-0a1b2c3d4e5f60718"
  subnet_ids           = ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"]
  source_cidr_blocks   = ["10.20.0.0/16"]
  kms_key_arn          = module.storage.kms_key_arn
  bronze_bucket_name   = module.storage.bucket_ids["bronze"]
  s3_target_role_arn   = module.iam.dms_s3_target_role_arn
  secrets_role_arn     = module.iam.dms_secrets_role_arn
  bronze_contract_file = "${var.declarations_dir}/bronze_contract.json"
  entities_file        = "${var.declarations_dir}/entities.json"

  source_database = {
    database_name = "saas"
    port          = 5432
    secret_arn    = local.secret_arn
  }
}

output "bronze_bucket" {
  description = "The bronze bucket the endpoint writes to."
  value       = module.storage.bucket_ids["bronze"]
}
