//! One SVG line chart for the examples' figures (plotters' SVG backend, no fonts needed).

use std::path::Path;

use plotters::prelude::*;

/// Line colours that stay distinct on white (the "tab10" palette).
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A chart of one line per series over the points `xs` (plotted on a log2 axis, labelled by
/// `x_label`); `series` are (name, y per x).
pub fn line_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xs: &[f64],
    x_label: &dyn Fn(f64) -> String,
    series: &[(String, Vec<f64>)],
) {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let lx: Vec<f64> = xs.iter().map(|x| x.log2()).collect();
    let top = series
        .iter()
        .flat_map(|(_, ys)| ys.iter().copied())
        .fold(0.0, f64::max)
        * 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(lx[0] - 0.4..lx[lx.len() - 1] + 0.4, 0.0..top)
        .unwrap();
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| x_label(2f64.powf(*x)))
        .draw()
        .unwrap();
    for (i, (name, ys)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()].to_rgba();
        let points: Vec<(f64, f64)> = lx.iter().copied().zip(ys.iter().copied()).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .unwrap()
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .unwrap();
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .unwrap();
    root.present().unwrap();
}
