"""BrandLens dashboard: app entry, navigation, shared sidebar state, chart builders."""
