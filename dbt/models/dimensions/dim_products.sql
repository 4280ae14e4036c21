{{ config(tags=['dimension']) }}

with products as (
    select * from {{ source('staging', 'products') }}
)

select
    product_id,
    make,
    model,
    {{ dbt.concat(['make', "' '", 'model']) }} as product_name,
    year,
    price,
    created_at,
    updated_at
from products
