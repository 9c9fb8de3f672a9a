"""Run once per model: CIFAR-100 ETL, SageMaker training, endpoint, report, cleanup."""
