// Package reporttest checks, in tests, a PDF the way a person would see
// it: poppler-utils renders its pages (pdftoppm) and reads its text
// (pdftotext).
package reporttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Poppler returns the path of a poppler-utils tool, or skips the test
// loudly (fails when JUKINET_REQUIRE_POPPLER is set, as .ci/run sets it).
func Poppler(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("SKIPPED: %s is not installed: the PDF is not checked by rendering it. Install the Debian package poppler-utils (apt-get install poppler-utils); .ci/run does.", tool)
	if os.Getenv("JUKINET_REQUIRE_POPPLER") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func write(t testing.TB, pdf []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// Text is the text pdftotext reads from every page of pdf, in layout.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	out, err := exec.Command(Poppler(t, "pdftotext"), "-layout", write(t, pdf), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// Pages renders every page of pdf with pdftoppm and returns how many it
// drew; anything pdftoppm complains of fails the test.
func Pages(t testing.TB, pdf []byte) int {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(Poppler(t, "pdftoppm"), "-r", "50", "-png", write(t, pdf), filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("pdftoppm complained: %s", out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	return len(pngs)
}
