{#- Whole history by design: a customer's value is an aggregate over every purchase they ever
    made, so an exact result reads every day of fct_purchases. Recomputing only the day's
    customers would still read all their history (files across every day), and adding the day's
    sums onto yesterday's result breaks when a day is re-run. So it is not in the daily job: the
    tag `whole_history` keeps it out, and the ml job, which consumes it, rebuilds it. -#}
{{ config(tags=['metric', 'customers', 'whole_history']) }}

with customers as (
    select user_id, created_at from {{ ref('dim_customers') }}
),

purchases as (
    select * from {{ ref('fct_purchases') }}
    where purchased_at is not null
),

per_customer as (
    select
        user_id,
        min(purchased_at) as first_purchase_at,
        max(purchased_at) as last_purchase_at,
        count(*) as purchases,
        count(case when status = 'returned' then 1 end) as returns,
        sum(gross_revenue) as gross_revenue,
        sum(refunded_amount) as refunded_amount,
        sum(net_revenue) as net_revenue
    from purchases
    group by user_id
),

valued as (
    select
        customers.user_id,
        customers.created_at as signed_up_at,
        per_customer.first_purchase_at,
        per_customer.last_purchase_at,
        coalesce(per_customer.purchases, 0) as purchases,
        coalesce(per_customer.returns, 0) as returns,
        coalesce(per_customer.gross_revenue, cast(0 as double)) as gross_revenue,
        coalesce(per_customer.refunded_amount, cast(0 as double)) as refunded_amount,
        coalesce(per_customer.net_revenue, cast(0 as double)) as lifetime_value,
        per_customer.gross_revenue / per_customer.purchases as average_order_value,
        {{ dbt.datediff('per_customer.first_purchase_at', 'per_customer.last_purchase_at', 'day') }}
            as active_days
    from customers
    left join per_customer on customers.user_id = per_customer.user_id
)

select
    user_id,
    signed_up_at,
    first_purchase_at,
    last_purchase_at,
    purchases,
    returns,
    gross_revenue,
    refunded_amount,
    lifetime_value,
    average_order_value,
    active_days,
    case
        when lifetime_value <= 0 then 'none'
        when lifetime_value < 100 then 'low'
        when lifetime_value < 1000 then 'medium'
        else 'high'
    end as value_segment
from valued
