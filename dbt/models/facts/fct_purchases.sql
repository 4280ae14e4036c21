{#- Partitioned by month of created_at (lakehouse/partitions.py), laid out by day: one run rebuilds
    the run's window, a month or a backfill's range (macros/partition_window.sql).
    Trino: an incremental `merge` on purchase_id into a day(created_at)-partitioned Iceberg table.
    DuckDB: the lakehouse plugin replaces the window's rows in the Iceberg table in one commit
    (partition_column + partition_window below). -#}
{{ config(
    materialized=('incremental' if target.type == 'trino' else 'external'),
    incremental_strategy='merge',
    unique_key='purchase_id',
    on_schema_change='append_new_columns',
    properties={'partitioning': "ARRAY['day(created_at)']"},
    partition_column='created_at',
    partition_window=true,
    tags=['fact', 'partitioned'],
) }}

with purchases as (
    select * from {{ source('staging', 'purchases') }}
    where {{ in_partition_window('created_at') }}
),

products as (
    select product_id, price from {{ ref('dim_products') }}
),

customers as (
    select user_id, country_code from {{ ref('dim_customers') }}
),

priced as (
    select
        purchases.purchase_id,
        purchases.user_id,
        purchases.product_id,
        purchases.status,
        customers.country_code as customer_country_code,
        products.price as unit_price,
        case
            when purchases.purchased_at is not null then coalesce(products.price, cast(0 as double))
            else cast(0 as double)
        end as gross_revenue,
        case
            when purchases.status = 'returned' then coalesce(products.price, cast(0 as double))
            else cast(0 as double)
        end as refunded_amount,
        purchases.created_at,
        purchases.updated_at,
        purchases.added_to_cart_at,
        purchases.purchased_at,
        purchases.returned_at,
        purchases.purchase_date,
        {{ dbt.datediff('purchases.added_to_cart_at', 'purchases.purchased_at', 'hour') }}
            as hours_to_purchase,
        {{ dbt.datediff('purchases.purchased_at', 'purchases.returned_at', 'day') }}
            as days_to_return
    from purchases
    left join products on purchases.product_id = products.product_id
    left join customers on purchases.user_id = customers.user_id
)

select
    purchase_id,
    user_id,
    product_id,
    status,
    customer_country_code,
    unit_price,
    gross_revenue,
    refunded_amount,
    gross_revenue - refunded_amount as net_revenue,
    created_at,
    updated_at,
    added_to_cart_at,
    purchased_at,
    returned_at,
    purchase_date,
    hours_to_purchase,
    days_to_return
from priced
