module goapi.bench/goserver

go 1.22
