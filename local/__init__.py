"""The whole workflow on one machine: moto for AWS, loopback servers for Lambda and SageMaker."""
