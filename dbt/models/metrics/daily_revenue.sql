{#- One row per revenue_date, the purchase's UTC day (fct_purchases.purchase_date, the day of
    created_at that lays out the fact), laid out by day and partitioned by month like the fact:
    a run aggregates only the window's fact rows and replaces only the window's days. Grouping by the day of payment instead would need the
    facts of every earlier day (a purchase is paid days after it is created), so each run
    would read more of the history. Trino: an incremental `merge` on revenue_date. -#}
{{ config(
    materialized=('incremental' if target.type == 'trino' else 'external'),
    incremental_strategy='merge',
    unique_key='revenue_date',
    on_schema_change='append_new_columns',
    properties={'partitioning': "ARRAY['day(revenue_date)']"},
    partition_column='revenue_date',
    partition_window=true,
    tags=['metric', 'finance', 'partitioned'],
) }}

with purchases as (
    select * from {{ ref('fct_purchases') }}
    where {{ in_partition_window('created_at') }}
        and purchased_at is not null
)

select
    purchase_date as revenue_date,
    count(*) as purchases,
    count(distinct user_id) as customers,
    count(case when status = 'returned' then 1 end) as returns,
    sum(gross_revenue) as gross_revenue,
    sum(refunded_amount) as refunded_amount,
    sum(net_revenue) as net_revenue,
    sum(gross_revenue) / count(*) as average_order_value,
    cast(count(case when status = 'returned' then 1 end) as double) / count(*) as return_rate
from purchases
group by purchase_date
