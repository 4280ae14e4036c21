{#- The partition window [start, end) of the run (a month, or a backfill's range of months), ISO-8601 instants that Dagster passes in
    the dbt process's environment (DAGSTER_DBT_WINDOW_START/END, lakehouse/analytics/commits.py).

    Not dbt vars: a change of --vars makes dbt re-parse the whole project, on every run. The
    variables are read only at execution (`execute`): at parse time the macro returns none, so
    dbt records no env var for the model and the prepared partial-parse state stays valid.
    With neither variable set a model processes every row (a full rebuild). -#}

{% macro partition_window() -%}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set start = env_var('DAGSTER_DBT_WINDOW_START', '') -%}
  {%- set end = env_var('DAGSTER_DBT_WINDOW_END', '') -%}
  {%- if (start == '') != (end == '') -%}
    {{ exceptions.raise_compiler_error("set both DAGSTER_DBT_WINDOW_START and DAGSTER_DBT_WINDOW_END, or neither") }}
  {%- endif -%}
  {%- for bound in [start, end] if bound != '' -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+)?(Z|[+-][0-9:]+)?$', bound) -%}
      {{ exceptions.raise_compiler_error("the partition window must be ISO-8601 instants, got " ~ bound) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(none if start == '' else [start, end]) }}
{%- endmacro %}

{#- A predicate keeping the rows whose `column` is in the window: a timestamp with time zone,
    or with kind 'date' a UTC calendar date (windows start at midnight UTC). -#}
{% macro in_partition_window(column, kind='timestamp') -%}
  {%- set window = partition_window() -%}
  {%- if window is none -%}
    1 = 1
  {%- elif kind == 'date' -%}
    {{ column }} >= date '{{ window[0][:10] }}' and {{ column }} < date '{{ window[1][:10] }}'
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
