// The Keras tutorial's model in dfdx: 10 -> 64 relu -> 32 relu -> 1 sigmoid, Adam, BCE.
use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};

type Model = (Linear<10, 64>, ReLU, Linear<64, 32>, ReLU, Linear<32, 1>);

fn main() {
    let dev = Cpu::seed_from_u64(42);
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut model = dev.build_module::<Model, f32>();
    let mut grads = model.alloc_grads();
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
    let rows = 800;
    let mut xs = Vec::with_capacity(rows * 10);
    let mut ys = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f32> = (0..10).map(|_| rng.gen_range(0.0..10.0)).collect();
        let s: f32 = row[..5].iter().sum::<f32>() - row[5..].iter().sum::<f32>();
        ys.push(f32::from(s > 0.0));
        xs.extend(row);
    }
    for epoch in 0..10 {
        let mut total = 0.0;
        for b in 0..rows / 32 {
            let x = dev.tensor_from_vec(xs[b * 320..(b + 1) * 320].to_vec(), (Const::<32>, Const::<10>));
            let y = dev.tensor_from_vec(ys[b * 32..(b + 1) * 32].to_vec(), (Const::<32>, Const::<1>));
            let logits = model.forward_mut(x.traced(grads));
            let loss = binary_cross_entropy_with_logits_loss(logits, y);
            total += loss.array();
            grads = loss.backward();
            opt.update(&mut model, &grads).unwrap();
            model.zero_grads(&mut grads);
        }
        println!("epoch {epoch}: loss {:.4}", total / (rows / 32) as f32);
    }
}
