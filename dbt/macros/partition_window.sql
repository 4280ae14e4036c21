{#- The daily partition window [min_date, max_date) that Dagster passes as dbt vars
    (lakehouse/analytics/assets.py). With neither var set a model processes every row. -#}

{% macro partition_window() -%}
  {%- set start, end = var('min_date', none), var('max_date', none) -%}
  {%- if (start is none) != (end is none) -%}
    {{ exceptions.raise_compiler_error("set both dbt vars min_date and max_date, or neither") }}
  {%- endif -%}
  {%- for bound in [start, end] if bound is not none -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+)?(Z|[+-][0-9:]+)?$', bound | string) -%}
      {{ exceptions.raise_compiler_error("min_date/max_date must be ISO-8601 instants, got " ~ bound) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(none if start is none else [start | string, end | string]) }}
{%- endmacro %}

{#- A predicate keeping the rows whose `column` (a timestamp with time zone) is in the window. -#}
{% macro in_partition_window(column) -%}
  {%- set window = partition_window() -%}
  {%- if window is none -%}
    1 = 1
  {%- else -%}
    {{ column }} >= {{ utc_instant(window[0]) }} and {{ column }} < {{ utc_instant(window[1]) }}
  {%- endif -%}
{%- endmacro %}

{#- An ISO-8601 instant as a timestamp with time zone: each engine parses it its own way. -#}
{% macro utc_instant(iso) -%}
  {{ return(adapter.dispatch('utc_instant', 'lakehouse_analytics')(iso)) }}
{%- endmacro %}

{% macro default__utc_instant(iso) -%}
  cast('{{ iso }}' as timestamp with time zone)
{%- endmacro %}

{% macro duckdb__utc_instant(iso) -%}
  cast('{{ iso }}' as timestamptz)
{%- endmacro %}

{% macro trino__utc_instant(iso) -%}
  from_iso8601_timestamp('{{ iso }}')
{%- endmacro %}
