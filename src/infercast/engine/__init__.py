"""The engine: efficiencies, collectives, the step model, memory, serving scenarios, estimates."""
