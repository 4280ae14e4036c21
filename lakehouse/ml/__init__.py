"""The ml layer: features and training sets built from the analytics tables."""

from lakehouse.ml.assets import build_ml_assets, build_ml_checks
from lakehouse.ml.tables import CHURN_TRAINING_SET, CUSTOMER_FEATURES

__all__ = ["CHURN_TRAINING_SET", "CUSTOMER_FEATURES", "build_ml_assets", "build_ml_checks"]
