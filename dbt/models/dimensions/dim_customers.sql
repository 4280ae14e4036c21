{{ config(tags=['dimension']) }}

with users as (
    select * from {{ source('staging', 'users') }}
)

select
    user_id,
    full_name,
    email,
    lower({{ dbt.split_part('email', "'@'", 2) }}) as email_domain,
    telephone,
    {{ dbt.safe_cast('age', api.Column.translate_type('integer')) }} as age,
    case
        when age is null then 'unknown'
        when age < 25 then 'under_25'
        when age < 35 then '25_34'
        when age < 45 then '35_44'
        when age < 55 then '45_54'
        when age < 65 then '55_64'
        else '65_plus'
    end as age_band,
    gender,
    occupation,
    nationality,
    language,
    academic_degree,
    city,
    state,
    postal_code,
    upper(country_code) as country_code,
    created_at,
    updated_at
from users
