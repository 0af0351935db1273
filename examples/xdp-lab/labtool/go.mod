module lbnet.example/xdplab

go 1.22
