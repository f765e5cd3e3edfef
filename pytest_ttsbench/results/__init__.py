"""The typed result model (targets, trials, results, verdicts), the statistics over it,
and the results JSON files: dicts exist only at that JSON edge. The bottom layer:
imports nothing else of the plugin."""
