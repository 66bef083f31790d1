module mela.local/pause

go 1.26.0
