"""The stand-in for the SageMaker image-classification model: `classifier` trains, saves, loads
and serves a small CPU model (`[p_bicycle, p_motorcycle]` for PNG or JPEG bytes), on the two
families of image features in `features`."""
