output "topic_arn" {
  description = "SNS topic that receives every lakehouse alert."
  value       = aws_sns_topic.this.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = concat([for alarm in aws_cloudwatch_metric_alarm.cdc_latency : alarm.alarm_name], [aws_cloudwatch_metric_alarm.task_stopped.alarm_name])
}
