module github.com/lbnet/lbnet/go

go 1.24
