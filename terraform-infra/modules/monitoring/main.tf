locals {
  dms_task_dimensions = {
    ReplicationInstanceIdentifier = var.dms.replication_instance_id
    ReplicationTaskIdentifier     = var.dms.replication_task_resource_id
  }
}

resource "aws_sns_topic" "this" {
  name              = "${var.name}-alerts"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.settings.alarm_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "AlarmsAndRulesOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

# ---------------------------------------------------------------------------------------------
# DMS: CDC latency and task failure.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "cdc_latency" {
  for_each = toset(["CDCLatencySource", "CDCLatencyTarget"])

  alarm_name          = "${var.name}-dms-${lower(each.key)}"
  alarm_description   = "DMS ${each.key} above ${var.settings.cdc_latency_threshold_seconds}s: bronze is falling behind the source."
  namespace           = "AWS/DMS"
  metric_name         = each.key
  dimensions          = local.dms_task_dimensions
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = var.settings.cdc_latency_periods
  threshold           = var.settings.cdc_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A running CDC task reports its latency every minute, heartbeats included; no data for 15
# minutes means the task stopped or failed.
resource "aws_cloudwatch_metric_alarm" "task_stopped" {
  alarm_name          = "${var.name}-dms-task-not-running"
  alarm_description   = "DMS task ${var.dms.replication_task_id} reports no CDC metrics: it stopped or failed."
  namespace           = "AWS/DMS"
  metric_name         = "CDCLatencySource"
  dimensions          = local.dms_task_dimensions
  statistic           = "SampleCount"
  period              = 300
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_event_rule" "dms_task_failed" {
  name        = "${var.name}-dms-task-failed"
  description = "The bronze DMS task failed or stopped"
  event_pattern = jsonencode({
    source        = ["aws.dms"]
    "detail-type" = ["DMS Replication Task State Change"]
    resources     = [var.dms.replication_task_arn]
    detail        = { eventType = ["REPLICATION_TASK_FAILED", "REPLICATION_TASK_STOPPED"] }
  })
}

resource "aws_cloudwatch_event_target" "dms_task_failed" {
  rule = aws_cloudwatch_event_rule.dms_task_failed.name
  arn  = aws_sns_topic.this.arn
}

# ---------------------------------------------------------------------------------------------
# The source database: replication slot and WAL, free storage (RDS only).
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
# ---------------------------------------------------------------------------------------------

locals {
  rds_alarms = var.source_db == null ? {} : {
    # Bytes of WAL the slowest replication slot (DMS's) still needs. At half of
    # max_slot_wal_keep_size there is time to act before the slot is invalidated.
    slot-lag = {
      metric      = "OldestReplicationSlotLag"
      description = "The DMS replication slot lags by more than half of max_slot_wal_keep_size: past it, the slot is invalidated and DMS must full-load again."
      threshold   = var.source_db.max_slot_wal_keep_size_mb * 1024 * 1024 / 2
      operator    = "GreaterThanThreshold"
      statistic   = "Maximum"
    }
    # Disk used by WAL (transaction logs) that slots and archiving still keep.
    wal-disk = {
      metric      = "TransactionLogsDiskUsage"
      description = "WAL on the source disk exceeds max_slot_wal_keep_size: a slot or archiving is holding it."
      threshold   = var.source_db.max_slot_wal_keep_size_mb * 1024 * 1024
      operator    = "GreaterThanThreshold"
      statistic   = "Maximum"
    }
    free-storage = {
      metric      = "FreeStorageSpace"
      description = "The source database has less than ${var.settings.free_storage_percent}% of its storage free."
      threshold   = var.source_db.allocated_storage_gb * 1024 * 1024 * 1024 * var.settings.free_storage_percent / 100
      operator    = "LessThanThreshold"
      statistic   = "Minimum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "source_db" {
  for_each = local.rds_alarms

  alarm_name          = "${var.name}-source-db-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  dimensions          = { DBInstanceIdentifier = var.source_db.instance_id }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 2
  threshold           = each.value.threshold
  comparison_operator = each.value.operator
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# ---------------------------------------------------------------------------------------------
# The lake: quarantined rows and gold freshness, from the metrics the jobs publish.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "quarantined_rows" {
  alarm_name          = "${var.name}-quarantined-rows"
  alarm_description   = "A silver job quarantined rows: read the quarantine folder and the quality report."
  namespace           = var.lake_metrics.namespace
  metric_name         = var.lake_metrics.quarantined_rows
  dimensions          = { (var.lake_metrics.dimension) = var.lake_metrics.deployment }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
}

# No mart published for gold_freshness_hours hours in a row: gold is stale (the workflow did not
# run, or its gold jobs failed before publishing). Missing data is exactly that, so it breaches.
resource "aws_cloudwatch_metric_alarm" "gold_freshness" {
  alarm_name          = "${var.name}-gold-stale"
  alarm_description   = "No gold mart was published for ${var.settings.gold_freshness_hours} hours."
  namespace           = var.lake_metrics.namespace
  metric_name         = var.lake_metrics.gold_published
  dimensions          = { (var.lake_metrics.dimension) = var.lake_metrics.deployment }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.settings.gold_freshness_hours
  datapoints_to_alarm = var.settings.gold_freshness_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# ---------------------------------------------------------------------------------------------
# Glue job failures.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "glue_job_failed" {
  name        = "${var.name}-glue-job-failed"
  description = "A lakehouse Glue job failed, timed out or errored"
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Job State Change"]
    detail = {
      jobName = var.glue_job_names
      state   = ["FAILED", "TIMEOUT", "ERROR"]
    }
  })
}

resource "aws_cloudwatch_event_target" "glue_job_failed" {
  rule = aws_cloudwatch_event_rule.glue_job_failed.name
  arn  = aws_sns_topic.this.arn
}

# ---------------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name}-lakehouse"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "DMS CDC latency (s)"
          region = var.region
          stat   = "Maximum"
          period = 60
          metrics = [
            ["AWS/DMS", "CDCLatencySource", "ReplicationInstanceIdentifier", var.dms.replication_instance_id, "ReplicationTaskIdentifier", var.dms.replication_task_resource_id],
            ["AWS/DMS", "CDCLatencyTarget", "ReplicationInstanceIdentifier", var.dms.replication_instance_id, "ReplicationTaskIdentifier", var.dms.replication_task_resource_id],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "DMS changes in / replication instance"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/DMS", "CDCIncomingChanges", "ReplicationInstanceIdentifier", var.dms.replication_instance_id, "ReplicationTaskIdentifier", var.dms.replication_task_resource_id],
            ["AWS/DMS", "FreeStorageSpace", "ReplicationInstanceIdentifier", var.dms.replication_instance_id, { stat = "Minimum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Glue jobs: failed tasks"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = [
            for job in var.glue_job_names :
            ["Glue", "glue.driver.aggregate.numFailedTasks", "JobName", job, "JobRunId", "ALL", "Type", "count"]
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Athena bytes scanned"
          region = var.region
          stat   = "Sum"
          period = 3600
          metrics = [
            ["AWS/Athena", "ProcessedBytes", "WorkGroup", var.athena_workgroup_name],
          ]
        }
      },
    ]
  })
}
