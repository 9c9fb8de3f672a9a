"""Policy scanners on the template as SAM translates it (`make scan`): checkov and cfn-lint with
AWS Labs' serverless rules, judged against the findings the project accepts (accepted.toml)."""
