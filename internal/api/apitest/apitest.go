// Package apitest holds the API's tests to its OpenAPI document
// (api.OpenAPI): Serve makes a request as a test would and validates the
// request and the answer against the document with libopenapi-validator.
// Only tests import it, so the validator stays out of the binary.
package apitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"jukinet/internal/api"
)

var (
	once      sync.Once
	validate  validator.Validator
	loadError error
	// serialise: the validator's caches are shared by every test of the
	// package, and tests run in parallel.
	mu sync.Mutex
)

// Validator is the document's validator, built once: formats (date,
// date-time) asserted, and strict, so that a property, query parameter
// or header the document does not declare is an error. Security is not
// checked (a test's demo loopback client has neither certificate nor
// session; the document says so), nor are the standard headers and the
// security headers the web server sets on every answer.
func Validator() (validator.Validator, error) {
	once.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI)
		if err != nil {
			loadError = fmt.Errorf("read the OpenAPI document: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithStrictMode(),
			config.WithStrictIgnoredHeadersExtra("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
				"Strict-Transport-Security", "Sec-Fetch-Site"),
			// The session cookie is declared as the security scheme
			// "session", which strict mode does not count as declaring it.
			config.WithStrictIgnorePaths("$.cookies.jukinet_session"),
			config.WithoutSecurityValidation())
		if len(errs) > 0 {
			loadError = fmt.Errorf("build the OpenAPI validator: %v", errs)
			return
		}
		validate = v
	})
	return validate, loadError
}

// Serve serves req on h and validates the exchange against the document:
// the answer always (its status must be one the operation declares, its
// body the schema of that status and media type, errors included); the
// request when the API took it (2xx), since a request the document calls
// valid must not be one the API refuses as malformed, and one the API
// took must be one the document allows. A path of /api/ that is no route
// must be answered 404 not_found. Failures are reported on t.
func Serve(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			t.Fatalf("read the request's body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The validator reads its own copy: the handler consumes req's.
	copy := req.Clone(req.Context())
	copy.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if err := Check(copy, rec); err != nil {
		t.Errorf("%s %s (answered %d): %v\n%s", req.Method, req.URL, rec.Code, err, rec.Body.String())
	}
	return rec
}

// Check validates req (whose body must be readable) and rec, as Serve
// describes.
func Check(req *http.Request, rec *httptest.ResponseRecorder) error {
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return nil
	}
	v, err := Validator()
	if err != nil {
		return err
	}
	resp := rec.Result()
	resp.Request = req
	mu.Lock()
	defer mu.Unlock()
	var errs []*verrors.ValidationError
	if rec.Code >= 200 && rec.Code < 300 {
		_, errs = v.ValidateHttpRequestSync(req)
		req.Body = http.NoBody
	}
	_, rerrs := v.ValidateHttpResponse(req, resp)
	errs = append(errs, rerrs...)
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 && errs[0].IsPathMissingError() || isOperationMissing(errs) {
		// No route: the API answers every such path 404 not_found.
		if rec.Code == http.StatusNotFound && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") &&
			strings.Contains(rec.Body.String(), `"type":"tag:jukinet,2026:problem:not_found"`) {
			return nil
		}
	}
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s", f.Error())
		}
	}
	return fmt.Errorf("the exchange does not match the OpenAPI document:%s", b.String())
}

// isOperationMissing says whether errs is only the path's lack of the
// request's method.
func isOperationMissing(errs []*verrors.ValidationError) bool {
	for _, e := range errs {
		if !e.IsPathMissingError() && !strings.Contains(e.Message, "not found") && e.ValidationSubType != "missingOperation" {
			return false
		}
	}
	return true
}
