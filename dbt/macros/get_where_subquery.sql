{#- Overrides dbt's macro of the same name (the documented way to give a test's `where` a
    run-time value): a test configured with `where: "in_partition_window(<column>)"`, or
    `in_partition_window(<column>, date)` for a date column, checks only the run's partition
    window, so a month's run's tests read that month's files, not the whole table. With no window
    (a full rebuild, a manual `dbt build`) the test checks every row. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where -%}
    {%- set windowed = modules.re.match('^ *in_partition_window[(]([A-Za-z_0-9]+)(, *([a-z]+))?[)] *$', where) -%}
    {%- if windowed -%}
      {%- set where = in_partition_window(windowed.group(1), windowed.group(3) or 'timestamp') -%}
    {%- endif -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
  {%- else -%}
    {{ return(relation) }}
  {%- endif -%}
{%- endmacro %}
