package api_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"

	"jukinet/internal/api"
	"jukinet/internal/api/apitest"
)

// TestOpenAPIDocumentIsValid: the embedded document is OpenAPI 3.1 and
// valid against the specification's schema, and the validator the tests
// use can be built from it.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("OpenAPI version %q, want 3.1.0", v)
	}
	v, err := apitest.Validator()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s", f.Error())
			}
		}
	}
	if _, errs := doc.BuildV3Model(); errs != nil {
		t.Errorf("build the model: %v", errs)
	}
}

// TestOpenAPIDescribesEveryRoute: the document's operations are exactly
// the routes registered on the API's mux (api.Routes), method, path and
// the names of its parameters alike.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	routes := api.Routes()
	if len(routes) < 40 || !slices.Contains(routes, "GET /api/v1/residents/{code}") || !slices.Contains(routes, "GET /api/v1/openapi.json") {
		t.Fatalf("api.Routes() is not the mux's table: %v", routes)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is registered but not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("%s is in the OpenAPI document but no route of the API", d)
		}
	}
}

// TestOpenAPIServed: GET /api/v1/openapi.json answers the embedded
// document to the API's callers (a demo node's loopback client here) and,
// like every route, 401 without a session on a node that is not a demo
// and 403 to a demo node's other clients.
func TestOpenAPIServed(t *testing.T) {
	_, h, _ := newNode(t, true)
	rec, v := do(t, h, "GET", "/api/v1/openapi.json", "", local)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), api.OpenAPI) || v["openapi"] != "3.1.0" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec, _ := do(t, h, "GET", "/api/v1/openapi.json", "", "192.0.2.7:5555"); rec.Code != 403 {
		t.Errorf("openapi.json from another host of a demo node: %d, want 403", rec.Code)
	}
	_, real, _ := newNode(t, false)
	if rec, _ := do(t, real, "GET", "/api/v1/openapi.json", "", local); rec.Code != 401 {
		t.Errorf("openapi.json without a session: %d, want 401", rec.Code)
	}
}
