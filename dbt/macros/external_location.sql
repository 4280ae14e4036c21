{#- Overrides dbt-duckdb's macro of the same name: each invocation writes transient files of its
    own, so concurrent runs of one model never read each other's output. The lakehouse plugin
    deletes a file once its rows are committed to Iceberg. -#}
{% macro external_location(relation, config) -%}
  {{- adapter.external_root() }}/{{ relation.identifier }}-{{ invocation_id }}.{{ config.get('format', 'parquet') }}
{%- endmacro %}
