{{ config(tags=['metric', 'finance']) }}

with purchases as (
    select * from {{ ref('fct_purchases') }}
    where purchased_at is not null
)

select
    cast({{ dbt.date_trunc('day', 'purchased_at') }} as date) as revenue_date,
    count(*) as purchases,
    count(distinct user_id) as customers,
    count(case when status = 'returned' then 1 end) as returns,
    sum(gross_revenue) as gross_revenue,
    sum(refunded_amount) as refunded_amount,
    sum(net_revenue) as net_revenue,
    sum(gross_revenue) / count(*) as average_order_value,
    cast(count(case when status = 'returned' then 1 end) as double) / count(*) as return_rate
from purchases
group by cast({{ dbt.date_trunc('day', 'purchased_at') }} as date)
