package web

import (
	"jukinet/internal/apperr"
	"jukinet/internal/approval"
)

// statusPDF renders a status report as PDF.
func statusPDF(st approval.Status) ([]byte, error) {
	return nil, apperr.New(apperr.Unavailable, "PDF rendering is not built yet: download the CSV", "PDFはまだ作成できません。CSVを利用してください")
}
