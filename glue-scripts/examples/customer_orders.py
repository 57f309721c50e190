"""Example Glue job, Glue Studio style: paid orders with their customer, by tenant.

Catalog sources (``silver.customers``, ``silver.orders``) -> ApplyMapping -> Join -> Filter ->
DropFields -> a catalog sink partitioned by ``tenant_id`` that registers the table and its
partitions (``enableUpdateCatalog``). It runs unchanged on AWS Glue and locally:

    lakehouse glue start-job-run --job-name example_customer_orders \\
        --script glue-scripts/examples/customer_orders.py \\
        --arguments '{"--output_path": "s3://<bucket>/examples/customer_orders/",
                      "--output_database": "examples"}'
"""

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.transforms import ApplyMapping, DropFields, Filter, Join
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "output_path", "output_database"])
sc = SparkContext.getOrCreate()
glueContext = GlueContext(sc)
spark = glueContext.spark_session
job = Job(glueContext)
job.init(args["JOB_NAME"], args)

# Script generated for node Customers
Customers_node = glueContext.create_dynamic_frame.from_catalog(
    database="silver", table_name="customers", transformation_ctx="Customers_node"
)

# Script generated for node Orders
Orders_node = glueContext.create_dynamic_frame.from_catalog(
    database="silver", table_name="orders", transformation_ctx="Orders_node"
)

# Script generated for node Customer fields
CustomerFields_node = ApplyMapping.apply(
    frame=Customers_node,
    mappings=[
        ("id", "string", "customer_id", "string"),
        ("tenant_id", "string", "tenant_id", "string"),
        ("country", "string", "country", "string"),
        ("status", "string", "customer_status", "string"),
        ("created_at", "timestamp", "customer_since", "timestamp"),
    ],
    transformation_ctx="CustomerFields_node",
)

# Script generated for node Order fields
OrderFields_node = ApplyMapping.apply(
    frame=Orders_node,
    mappings=[
        ("id", "string", "order_id", "string"),
        ("tenant_id", "string", "order_tenant_id", "string"),
        ("customer_id", "string", "order_customer_id", "string"),
        ("order_number", "string", "order_number", "string"),
        ("total", "decimal(12,2)", "total", "decimal(12,2)"),
        ("paid_at", "timestamp", "paid_at", "timestamp"),
    ],
    transformation_ctx="OrderFields_node",
)

# Script generated for node Paid orders
PaidOrders_node = Filter.apply(
    frame=OrderFields_node,
    f=lambda row: row["paid_at"] is not None,
    transformation_ctx="PaidOrders_node",
)

# Script generated for node Join
Join_node = Join.apply(
    frame1=PaidOrders_node,
    frame2=CustomerFields_node,
    keys1=["order_customer_id"],
    keys2=["customer_id"],
    transformation_ctx="Join_node",
)

# Script generated for node Drop Fields
DropFields_node = DropFields.apply(
    frame=Join_node,
    paths=["order_customer_id", "order_tenant_id"],
    transformation_ctx="DropFields_node",
)

# Script generated for node Data Catalog target
Target_node = glueContext.getSink(
    path=args["output_path"],
    connection_type="s3",
    updateBehavior="UPDATE_IN_DATABASE",
    partitionKeys=["tenant_id"],
    enableUpdateCatalog=True,
    transformation_ctx="Target_node",
)
Target_node.setCatalogInfo(
    catalogDatabase=args["output_database"], catalogTableName="customer_orders"
)
Target_node.setFormat("glueparquet", compression="snappy")
Target_node.writeFrame(DropFields_node)
job.commit()
