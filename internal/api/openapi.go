package api

import (
	_ "embed"
	"net/http"
	"slices"
)

// OpenAPI is the API's description, an OpenAPI 3.1 document (JSON),
// written by hand beside the handlers and served at
// GET /api/v1/openapi.json. The tests hold it to the routes (Routes) and
// validate every request and response they make against it.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPI serves the description to the API's callers (the signed-in
// operators, and a demo node's loopback clients), as every other route.
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(OpenAPI)
}

// routeMux is the API's ServeMux, remembering the pattern of each route
// registered on it, so that the list of routes (Routes) is the mux's own
// and cannot drift from it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// HandleFunc registers handler for pattern and remembers the pattern.
func (m *routeMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, handler)
}

// Handle registers handler for pattern and remembers the pattern.
func (m *routeMux) Handle(pattern string, handler http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, handler)
}

// Routes are the API's routes as registered on its mux ("GET
// /api/v1/residents/{code}"), sorted: what the OpenAPI document must
// describe, no more and no less.
func Routes() []string {
	// Registering touches neither the node nor the logger.
	return slices.Sorted(slices.Values(New(nil, nil, nil).mux.patterns))
}
