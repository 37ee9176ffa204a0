import torch, torch.nn as nn, math
torch.manual_seed(0)
class Attn(nn.Module):
    def __init__(s, d=128, h=4):
        super().__init__(); s.h=h; s.qkv=nn.Linear(d,3*d); s.o=nn.Linear(d,d); s.ln1=nn.LayerNorm(d); s.ln2=nn.LayerNorm(d); s.f1=nn.Linear(d,4*d); s.f2=nn.Linear(4*d,d)
    def forward(s,x):
        B,N,D=x.shape; q,k,v=s.qkv(s.ln1(x)).view(B,N,3,s.h,D//s.h).permute(2,0,3,1,4)
        a=torch.softmax(q@k.transpose(-1,-2)/math.sqrt(D//s.h),-1)@v
        x=x+s.o(a.transpose(1,2).reshape(B,N,D)); return x+s.f2(torch.relu(s.f1(s.ln2(x))))
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb=nn.Embedding(8193,128); s.pos=nn.Parameter(torch.randn(256,128)*0.02); s.blocks=nn.ModuleList([Attn() for _ in range(2)]); s.head=nn.Linear(128,8192)
    def forward(s,tok):
        x=s.emb(tok)+s.pos
        for b in s.blocks: x=b(x)
        return torch.log_softmax(s.head(x)*3,-1)
m=M().eval()
tok=torch.randint(0,8193,(1,256))
torch.onnx.export(m,(tok,),'m.onnx',input_names=['tokens'],output_names=['logp'],opset_version=17)
import numpy as np; np.save('tok.npy', tok.numpy().astype(np.int64))
print('ok')
