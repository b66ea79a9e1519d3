"""``layerwise explore``: the closed forms of `layerwise.theory` under sliders, beside the engine.

One module per panel (`feedback`, `lambda_panel`, `grokking_panel`, `emergence_panel`), each split into pure compute
functions (settings -> curves, evaluated by `layerwise.theory`; settings -> a simulation by `layerwise.engine.train`)
and a Bokeh layout that only moves those numbers into data sources. `app` assembles the Bokeh server app,
`static` the server-free explorer embedded in the reproduction report. Importing this package imports no Bokeh.
"""
