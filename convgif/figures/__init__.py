"""What is drawn: figure descriptions (pure data) and the builders that make them.

- :mod:`convgif.figures.model`: grids, steps and marks, written to JSON and back;
- :mod:`convgif.figures.window`: the sliding-window figure of one convolution,
  transposed convolution or pooling (the guide's figures), with or without numbers;
- :mod:`convgif.figures.stack`: a stack of layers' receptive field, bottom to top
  (the oblique stack in 2-D, WaveNet's rows of units in 1-D).
"""
