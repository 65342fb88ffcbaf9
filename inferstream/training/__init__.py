"""Reference-model training and ONNX export (scikit-learn + skl2onnx).

Never imported by serving code (an import-linter contract checks it): workers load the bundles
this package writes through ONNX Runtime only.
"""
