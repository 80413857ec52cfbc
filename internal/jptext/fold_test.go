package jptext

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestNameKey(t *testing.T) {
	same := [][]string{
		{"高橋", "髙橋"},
		{"山崎", "山﨑", "山嵜"},
		{"渡辺", "渡邊", "渡邉"},
		{"斎藤", "齋藤", "齊藤", "斉藤"},
		{"吉田", "𠮷田"},
		{"沢田", "澤田"},
		{"浜田", "濱田", "濵田"},
		{"桜井", "櫻井"},
		{"徳永", "德永"},
		{"サイトウ", "さいとう", "ｻｲﾄｳ", "サ イ ト ウ", "さいとう　"},
		{"バイオリン", "ヴァイオリン", "ゔぁいおりん"},
		{"ガ", "ｶﾞ", "カ゛", "が"},
		{"キヨ", "キョ", "きょ"},
		{"スミス ジョン", "スミス・ジョン", "スミス＝ジョン"},
		{"SMITH JOHN", "smith, john", "ＳＭＩＴＨ　ＪＯＨＮ"},
		{"ミーナ", "ミ-ナ", "ﾐｰﾅ"},
		{"葛飾", "葛\U000E0100飾"}, // an ideographic variation sequence
	}
	for _, group := range same {
		want := NameKey(group[0])
		for _, s := range group[1:] {
			if got := NameKey(s); got != want {
				t.Errorf("NameKey(%q) = %q, want %q (as %q)", s, got, want, group[0])
			}
		}
	}
	different := [][2]string{{"高橋", "高畑"}, {"サイトウ", "サトウ"}, {"ハ", "バ"}}
	for _, p := range different {
		if NameKey(p[0]) == NameKey(p[1]) {
			t.Errorf("NameKey(%q) == NameKey(%q)", p[0], p[1])
		}
	}
}

func TestAddressKey(t *testing.T) {
	same := [][]string{
		{"東京都江東区東陽4-11-28", "東京都江東区東陽四丁目11番28号", "東京都 江東区 東陽４－１１－２８", "東京都江東区東陽4丁目11-28"},
		{"千代田区霞ケ関1-2", "千代田区霞が関一丁目2番", "千代田区霞ヶ関1丁目2"},
		{"青森市大字新町1-2", "青森市新町一番地の二", "青森市新町1番地2"},
		{"横浜市中区山下町23", "横浜市中区山下町二十三番地"},
		{"江東区北砂11-1-1", "江東区北砂十一丁目1番1号"},
	}
	for _, group := range same {
		want := AddressKey(group[0])
		for _, s := range group[1:] {
			if got := AddressKey(s); got != want {
				t.Errorf("AddressKey(%q) = %q, want %q (as %q)", s, got, want, group[0])
			}
		}
	}
	// Kanji numerals that are part of a place name stay.
	if got := AddressKey("八王子市三田"); got != "八王子市三田" {
		t.Errorf("AddressKey(八王子市三田) = %q", got)
	}
	// A partial address is a substring of the full one, key for key.
	full, part := AddressKey("東京都江東区東陽四丁目11番28号"), AddressKey("江東区東陽4")
	if !strings.Contains(full, part) {
		t.Errorf("%q does not contain %q", full, part)
	}
}

func TestVariantTable(t *testing.T) {
	if n := VariantPairs(); n < 150 {
		t.Fatalf("variant table has %d pairs, want at least 150", n)
	}
	for v, std := range variantTable() {
		if _, ok := variantTable()[std]; ok {
			t.Errorf("%c → %c, but %c is itself folded: the table must map in one step", v, std, std)
		}
		if Fold(string(v)) != Fold(string(std)) {
			t.Errorf("Fold(%c) = %q, Fold(%c) = %q", v, Fold(string(v)), std, Fold(string(std)))
		}
	}
}

// textGen draws strings from the characters the folds care about.
func textGen() *rapid.Generator[string] {
	alphabet := []rune("あいうえおかがきぎゃゅょっゔぁぃぇぉアイウエオカガキャュョッヴァィゥェォヶヵｶﾞｷﾞｯｬﾞﾟ゛゜ーｰ-－―~〜 　・=,.abcXYZ０１２３0123一二三四五六七八九十百丁目番地号の大字高髙崎﨑辺邊邉斎齋齊斉𠮷吉沢澤浜濱区市町\U000E0100\uFE00")
	return rapid.Custom(func(t *rapid.T) string {
		n := rapid.IntRange(0, 20).Draw(t, "n")
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteRune(alphabet[rapid.IntRange(0, len(alphabet)-1).Draw(t, "r")])
		}
		return b.String()
	})
}

func TestFoldIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := textGen().Draw(t, "s")
		for name, f := range map[string]func(string) string{"Fold": Fold, "NameKey": NameKey, "AddressKey": AddressKey} {
			once := f(s)
			if twice := f(once); twice != once {
				t.Fatalf("%s not idempotent on %q: %q then %q", name, s, once, twice)
			}
		}
	})
}

func TestVariantSpellingsShareKey(t *testing.T) {
	var stds []rune
	variantsOf := map[rune][]rune{}
	for v, std := range variantTable() {
		if len(variantsOf[std]) == 0 {
			stds = append(stds, std)
		}
		variantsOf[std] = append(variantsOf[std], v)
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "n")
		var plain, varied []rune
		for i := 0; i < n; i++ {
			std := rapid.SampledFrom(stds).Draw(t, "std")
			plain = append(plain, std)
			if rapid.Bool().Draw(t, "vary") {
				varied = append(varied, rapid.SampledFrom(variantsOf[std]).Draw(t, "variant"))
			} else {
				varied = append(varied, std)
			}
		}
		if NameKey(string(plain)) != NameKey(string(varied)) {
			t.Fatalf("NameKey(%q) = %q, NameKey(%q) = %q", string(plain), NameKey(string(plain)), string(varied), NameKey(string(varied)))
		}
	})
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"髙橋", "ｶﾞ", "ヴァ", "東陽四丁目11番28号", "カ゛", "一〇五番"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fn := range []func(string) string{Fold, NameKey, AddressKey} {
			once := fn(s)
			if fn(once) != once {
				t.Fatalf("not idempotent on %q: %q then %q", s, once, fn(once))
			}
		}
	})
}
