"""The analytics layer: the dbt project in ``dbt/`` as Dagster assets ``analytics/<model>``.

Importing this package imports nothing heavy; ``assets`` needs dagster-dbt, ``duckdb_plugin`` is
loaded by dbt-duckdb inside the dbt process only.
"""
