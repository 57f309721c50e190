"""Example Glue job, Glue Studio style: units and revenue per product line, by tenant.

Catalog sources (``silver.order_items``, ``silver.products``) -> ApplyMapping ->
ResolveChoice -> Join -> SelectFields -> a catalog sink partitioned by ``tenant_id``.
Runs unchanged on AWS Glue and locally:

    lakehouse glue start-job-run --job-name example_product_sales \\
        --script glue-scripts/examples/product_sales.py \\
        --arguments '{"--output_path": "s3://<bucket>/examples/product_sales/",
                      "--output_database": "examples"}'
"""

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.transforms import ApplyMapping, Join, ResolveChoice, SelectFields
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "output_path", "output_database"])
sc = SparkContext.getOrCreate()
glueContext = GlueContext(sc)
job = Job(glueContext)
job.init(args["JOB_NAME"], args)

# Script generated for node Order items
OrderItems_node = glueContext.create_dynamic_frame.from_catalog(
    database="silver", table_name="order_items", transformation_ctx="OrderItems_node"
)

# Script generated for node Products
Products_node = glueContext.create_dynamic_frame.from_catalog(
    database="silver", table_name="products", transformation_ctx="Products_node"
)

# Script generated for node Item fields
ItemFields_node = ApplyMapping.apply(
    frame=OrderItems_node,
    mappings=[
        ("id", "string", "order_item_id", "string"),
        ("tenant_id", "string", "tenant_id", "string"),
        ("product_id", "string", "item_product_id", "string"),
        ("quantity", "int", "quantity", "bigint"),
        ("line_total", "decimal(12,2)", "line_total", "decimal(12,2)"),
    ],
    transformation_ctx="ItemFields_node",
)

# Script generated for node Product fields
ProductFields_node = ApplyMapping.apply(
    frame=Products_node,
    mappings=[
        ("id", "string", "product_id", "string"),
        ("sku", "string", "sku", "string"),
        ("category", "string", "category", "string"),
        ("price", "decimal(12,2)", "list_price", "decimal(12,2)"),
    ],
    transformation_ctx="ProductFields_node",
)

# Script generated for node Price as double
Prices_node = ResolveChoice.apply(
    frame=ProductFields_node,
    specs=[("list_price", "cast:double")],
    transformation_ctx="Prices_node",
)

# Script generated for node Join
Join_node = Join.apply(
    frame1=ItemFields_node,
    frame2=Prices_node,
    keys1=["item_product_id"],
    keys2=["product_id"],
    transformation_ctx="Join_node",
)

# Script generated for node Select Fields
Selected_node = SelectFields.apply(
    frame=Join_node,
    paths=["order_item_id", "tenant_id", "sku", "category", "quantity", "line_total", "list_price"],
    transformation_ctx="Selected_node",
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
    catalogDatabase=args["output_database"], catalogTableName="product_sales"
)
Target_node.setFormat("glueparquet", compression="snappy")
Target_node.writeFrame(Selected_node)
job.commit()
