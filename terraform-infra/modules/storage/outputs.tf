output "kms_key_arn" {
  description = "ARN of the lake's customer-managed KMS key."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "Id of the lake's customer-managed KMS key."
  value       = aws_kms_key.this.key_id
}

output "bucket_ids" {
  description = "Bucket name per lake bucket key (bronze, silver, gold, scripts, athena_results)."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.bucket }
}

output "bucket_arns" {
  description = "Bucket ARN per lake bucket key (known at plan time: policies that name them are too)."
  value       = { for key, bucket in aws_s3_bucket.this : key => local.bucket_arns[key] }
}

output "access_logs_bucket_id" {
  description = "Name of the bucket that receives the lake buckets' server access logs."
  value       = aws_s3_bucket.access_logs.bucket
}

output "lake_uris" {
  description = "The lake locations the Glue jobs receive as arguments (same layout as the local lake)."
  value = {
    bronze_path     = "s3://${aws_s3_bucket.this["bronze"].bucket}"
    silver_path     = "s3://${aws_s3_bucket.this["silver"].bucket}/silver"
    gold_path       = "s3://${aws_s3_bucket.this["gold"].bucket}/gold"
    quarantine_path = "s3://${aws_s3_bucket.this["silver"].bucket}/quarantine"
    reports_path    = "s3://${aws_s3_bucket.this["silver"].bucket}/reports"
    athena_results  = "s3://${aws_s3_bucket.this["athena_results"].bucket}/results"
  }
}
