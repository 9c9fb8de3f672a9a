"""What the training tools share: the archive, AWS, data capture, CIFAR-100 layout, errors."""
