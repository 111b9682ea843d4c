"""bertpipe components: TFX components and the libraries behind them."""
