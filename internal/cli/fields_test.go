package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// TestImportRefusesDamagedCP932 is the reported case at the command line: a
// CP932 file with one damaged double-byte character (近藤 that lost a
// byte) exits non-zero, names the line and column, and imports nothing.
func TestImportRefusesDamagedCP932(t *testing.T) { eachDatabase(t, testImportRefusesDamagedCP932) }

func testImportRefusesDamagedCP932(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	g, _ := synth.New(synth.Options{Seed: 6, LocalGov: "131083"})
	var sjis bytes.Buffer
	w := resident.NewCSVWriter(&sjis, resident.CP932)
	for i := 0; i < 3; i++ {
		r := g.Next()
		if i == 1 {
			r.FamilyName, r.FamilyNameKana, r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana = "近藤", "コンドウ", "", "", "", ""
		}
		w.Write(r)
	}
	w.Close()
	for _, tt := range []struct {
		name    string
		damaged []byte
		want    string
	}{
		{"the lead byte's pair is lost", []byte{0x82, 0x93, 0xA1}, "line 3, column family_name: character 2: half-width katakana"},
		{"a lead byte before a tab", []byte{0x8B, 0x09, 0x93, 0xA1}, "line 3, column family_name: byte 1 (0x8B) begins a double-byte character"},
	} {
		file := filepath.Join(t.TempDir(), "damaged.csv")
		os.WriteFile(file, bytes.Replace(sjis.Bytes(), []byte{0x8B, 0xDF, 0x93, 0xA1}, tt.damaged, 1), 0o644)
		code, out, errOut := run(t, "import", "residents", "--data", dir, file)
		if code == 0 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "nothing was imported") {
			t.Errorf("%s: exit %d, want %q:\n%s%s", tt.name, code, tt.want, out, errOut)
		}
	}
}
